export { AlpacaAdapter, type AlpacaAdapterOptions } from './adapter.js';
