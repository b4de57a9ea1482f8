export { UpstoxAdapter, type UpstoxAdapterOptions } from './adapter.js';
