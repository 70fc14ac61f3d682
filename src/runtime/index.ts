// The runtime layer's public API.
export { Session, allocate, cudaAvailable, releaseFetched, largestFetchBytes, type HostTensor, type SessionOptions, type Device } from './session.js';
