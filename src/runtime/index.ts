// The runtime layer's public API.
export { Session, allocate, cudaAvailable, type HostTensor, type SessionOptions, type Device } from './session.js';
