// The one place sharp is loaded from, so that the compiled binary can prepare libvips first.
const sharp: typeof import("sharp") = require("sharp");
export default sharp;
