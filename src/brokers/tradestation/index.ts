export { TradeStationAdapter, type TradeStationAdapterOptions } from './adapter.js';
