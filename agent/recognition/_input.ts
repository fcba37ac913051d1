// The detector's input, shared by the decoding side (sharp, main thread) and the inference threads (no sharp there).

/**
 * Side of the square the images are fed at, in pixels: the SSDLite MobileNetV2 graph
 * resizes every input to 300x300 itself (its `Preprocessor/map/while/ResizeImage` node),
 * so resizing before changes nothing for the model and moves 300x300x3 bytes, not the photo.
 */
export const MODEL_INPUT_SIZE = 300;

/** One image ready for the model: `pixels` is 300x300 RGB, row-major; `width` x `height` are the original's, upright. */
export interface ModelInput {
  pixels: Uint8Array;
  width: number;
  height: number;
}
