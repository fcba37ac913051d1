// JPEG frame header checks without decoding: SOI/EOI markers and the SOF dimensions.
import { FleetError } from "../errors";

/** What the frame header says about a JPEG: pixel dimensions and colour components. */
export interface JpegHeader {
  width: number;
  height: number;
  components: number;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/** SOFn markers that carry the frame header (ITU-T T.81, Table B.1): C0-CF but DHT (C4), JPG (C8), DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Markers that stand alone without a length field (T.81, B.1.1.3): TEM, RST0-7, SOI, EOI. */
function isStandalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

/** True when the bytes end with the EOI marker, allowing trailing zero padding some encoders add. */
export function endsWithEoi(bytes: Uint8Array): boolean {
  let end = bytes.length;
  while (end > 2 && bytes[end - 1] === 0) end -= 1;
  return end >= 4 && bytes[end - 2] === 0xff && bytes[end - 1] === EOI;
}

/**
 * Reads a JPEG's frame header by walking its marker segments up to SOS, and checks
 * that the data ends with EOI. Costs microseconds: no pixel is decoded.
 * @throws FleetError NOT_JPEG (no SOI), TRUNCATED_JPEG (segments cut or no EOI),
 *   BAD_JPEG (no frame header before the scan, or zero dimensions); all status 422.
 */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI)
    throw new FleetError("NOT_JPEG", "body does not start with the JPEG SOI marker (FFD8)", 422);
  let offset = 2;
  let header: JpegHeader | undefined;
  while (offset < bytes.length) {
    if (bytes[offset] !== 0xff) throw new FleetError("BAD_JPEG", `expected a marker at byte ${offset}`, 422);
    while (bytes[offset] === 0xff && offset < bytes.length) offset += 1; // fill bytes
    const marker = bytes[offset];
    offset += 1;
    if (marker === undefined) break;
    if (isStandalone(marker)) continue;
    if (offset + 2 > bytes.length) break;
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!;
    if (length < 2 || offset + length > bytes.length) break;
    if (isStartOfFrame(marker) && length >= 8) {
      header = {
        height: (bytes[offset + 3]! << 8) | bytes[offset + 4]!,
        width: (bytes[offset + 5]! << 8) | bytes[offset + 6]!,
        components: bytes[offset + 7]!,
      };
    }
    if (marker === SOS) {
      if (!header) throw new FleetError("BAD_JPEG", "scan starts before any frame header (SOF)", 422);
      if (header.width === 0 || header.height === 0) throw new FleetError("BAD_JPEG", "frame header has a zero dimension", 422);
      if (!endsWithEoi(bytes)) throw new FleetError("TRUNCATED_JPEG", "JPEG does not end with the EOI marker (FFD9)", 422);
      return header;
    }
    offset += length;
  }
  throw new FleetError("TRUNCATED_JPEG", "JPEG ends inside its header segments", 422);
}
