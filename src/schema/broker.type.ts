import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

export enum BrokerAuthFlow {
  NONE = 'NONE',
  OAUTH_REDIRECT = 'OAUTH_REDIRECT',
  API_KEY = 'API_KEY',
  LOGIN_TOTP = 'LOGIN_TOTP',
  GATEWAY = 'GATEWAY',
}
registerEnumType(BrokerAuthFlow, {
  name: 'BrokerAuthFlow',
  description: 'How a user connects the broker: none (paper), OAuth redirect, API key, login + TOTP, or a local gateway.',
});

export enum BrokerConnectionStatus {
  PENDING = 'PENDING',
  ACTIVE = 'ACTIVE',
  EXPIRED = 'EXPIRED',
  REVOKED = 'REVOKED',
  ERROR = 'ERROR',
}
registerEnumType(BrokerConnectionStatus, {
  name: 'BrokerConnectionStatus',
  description: 'PENDING (login not finished), ACTIVE, EXPIRED (token ended: reconnect), REVOKED (disconnected), ERROR (login refused).',
});

@ObjectType({ description: 'A broker this platform can trade through.' })
export class BrokerInfo {
  @Field(() => String, { description: "Registry name: 'paper', 'zerodha', 'upstox', 'fyers', 'angelone', 'groww'." })
  name!: string;
  @Field(() => String, { description: 'Human-readable name.' })
  displayName!: string;
  @Field(() => BrokerAuthFlow, { description: 'How a connection is made.' })
  authFlow!: BrokerAuthFlow;
  @Field(() => [String], { description: 'Exchanges the broker reaches.' })
  markets!: string[];
}

@ObjectType({ description: 'A link from your account to a broker account. Its credentials are stored encrypted and never shown.' })
export class BrokerConnection {
  @Field(() => ID, { description: 'Connection id; pass it to createPortfolio to trade through it.' })
  id!: string;
  @Field(() => String, { description: 'Broker name.' })
  broker!: string;
  @Field(() => String, { nullable: true, description: 'Your label for it.' })
  label!: string | null;
  @Field(() => String, { nullable: true, description: "The broker's id for the account, once connected." })
  accountId!: string | null;
  @Field(() => BrokerConnectionStatus, { description: 'Where the connection stands.' })
  status!: BrokerConnectionStatus;
  @Field(() => DateTimeScalar, { nullable: true, description: "When the broker's session ends (Kite 06:00 IST, Upstox 03:30 IST)." })
  expiresAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Why it last failed or expired (never a secret).' })
  lastError!: string | null;
  @Field(() => DateTimeScalar, { description: 'When it was created.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A started connection and, for redirect flows, where to send the user.' })
export class BrokerConnectionStart {
  @Field(() => BrokerConnection, { description: 'The connection (PENDING until the login completes; ACTIVE at once for API-key brokers).' })
  connection!: BrokerConnection;
  @Field(() => String, { nullable: true, description: "The broker's login URL, carrying a state bound to you and this connection." })
  authorizationUrl!: string | null;
}
