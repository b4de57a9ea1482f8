export { IbkrAdapter, type IbkrAdapterOptions } from './adapter.js';
export { coidOf } from './wire.js';
