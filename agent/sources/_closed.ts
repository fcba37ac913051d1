// The error a source throws once it has been closed.
import { FleetError } from "../errors";

/** FleetError SOURCE_CLOSED (status 409): next() was called after close(). */
export function closedError(): FleetError {
  return new FleetError("SOURCE_CLOSED", "the frame source was closed", 409);
}
