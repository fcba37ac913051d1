// The manager/worker protocol: framing, messages, connections. Re-exports by name.
export { DEFAULT_MAX_FRAME_BYTES, FRAME_PREFIX_BYTES, FrameDecoder, encodeFrame, type Frame } from "./framing";
export {
  MAX_CREDIT,
  MESSAGE_TYPES,
  OPS,
  PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
  type Assign,
  type Bye,
  type Challenge,
  type Heartbeat,
  type Hello,
  type Message,
  type Op,
  type Reject,
  type Result,
  type TaskError,
  type Welcome,
} from "./messages";
export { Connection, type CloseHandler, type ConnectionOptions, type MessageHandler } from "./connection";
export { connectTo, listenFor, type ConnectOptions, type ListenOptions, type ProtocolListener } from "./sockets";
export {
  HANDSHAKE_MAX_FRAME_BYTES,
  HELLO_TIMEOUT_MS,
  answerChallenge,
  checkHello,
  checkWelcome,
  createChallenge,
  createWelcome,
  proveHello,
  proveWelcome,
  sameSecret,
  type HelloFields,
} from "./auth";
