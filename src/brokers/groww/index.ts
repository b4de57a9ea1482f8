export { GrowwAdapter, type GrowwAdapterOptions } from './adapter.js';
