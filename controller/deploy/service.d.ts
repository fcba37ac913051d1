// Unit files imported as text (`with { type: "text" }`).
declare module "*.service" {
  const text: string;
  export default text;
}
