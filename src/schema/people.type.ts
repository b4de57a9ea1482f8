import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar, JSONScalar } from './scalars.js';
import { User } from './user.type.js';
import { PageInfo } from './order.type.js';

export enum RiskLevel {
  CONSERVATIVE = 'CONSERVATIVE',
  MODERATE = 'MODERATE',
  BALANCED = 'BALANCED',
  GROWTH = 'GROWTH',
  AGGRESSIVE = 'AGGRESSIVE',
}
registerEnumType(RiskLevel, { name: 'RiskLevel', description: 'How much risk an investor accepts, from least to most.' });

export enum ApiKeyScope {
  READ = 'READ',
  TRADE = 'TRADE',
}
registerEnumType(ApiKeyScope, { name: 'ApiKeyScope', description: 'READ: queries and subscriptions; TRADE: mutations too.' });

@ObjectType({ description: "A portfolio's investment profile: what its advisor's proposals are checked against." })
export class InvestmentProfile {
  @Field(() => RiskLevel, { description: 'Risk the investor accepts.' })
  riskLevel!: RiskLevel;

  @Field(() => Int, { nullable: true, description: 'Investment horizon in years.' })
  horizonYears!: number | null;

  @Field(() => String, { nullable: true, description: 'Objectives in the investor’s words.' })
  objectives!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Largest weight one position may have (a fraction, 0.2 = 20%).' })
  maxPositionWeight!: string | null;

  @Field(() => [String], { description: 'Symbols never to buy.' })
  excludedSymbols!: string[];
}

@InputType({ description: 'An investment profile to set.' })
export class InvestmentProfileInput {
  @Field(() => RiskLevel, { description: 'Risk the investor accepts.' })
  riskLevel!: RiskLevel;

  @Field(() => Int, { nullable: true, description: 'Investment horizon in years (0–100).' })
  horizonYears?: number | null;

  @Field(() => String, { nullable: true, description: 'Objectives in the investor’s words.' })
  objectives?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Largest weight one position may have: > 0 and <= 1.' })
  maxPositionWeight?: string | null;

  @Field(() => [String], { nullable: true, description: 'Symbols never to buy.' })
  excludedSymbols?: string[] | null;
}

@ObjectType({ description: 'An edge in a user connection.' })
export class UserEdge {
  @Field(() => String, { description: 'Opaque cursor for `after`.' })
  cursor!: string;

  @Field(() => User, { description: 'The user.' })
  node!: User;
}

@ObjectType({ description: 'A page of users, newest first.' })
export class UserConnection {
  @Field(() => [UserEdge], { description: 'The users on this page.' })
  edges!: UserEdge[];

  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'An API key for a bot or scheduler. Its secret is shown only when created.' })
export class ApiKey {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Your label for it.' })
  name!: string;

  @Field(() => String, { description: 'The first characters of the secret (tg_xxxxxxxx), to recognise it.' })
  prefix!: string;

  @Field(() => [ApiKeyScope], { description: 'What it may do.' })
  scopes!: ApiKeyScope[];

  @Field(() => DateTimeScalar, { description: 'When it was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it last authenticated a request (to the second).' })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was revoked; it no longer works.' })
  revokedAt!: Date | null;
}

@ObjectType({ description: 'A new API key and its secret, shown this once.' })
export class ApiKeySecret {
  @Field(() => ApiKey, { description: 'The key.' })
  apiKey!: ApiKey;

  @Field(() => String, { description: 'Send as `Authorization: Bearer tg_…`. Not retrievable later.' })
  secret!: string;
}

@ObjectType({ description: 'One entry of the hash-chained audit log.' })
export class AuditEntry {
  @Field(() => ID, { description: 'Position in the chain.' })
  id!: string;

  @Field(() => DateTimeScalar, { description: 'When it happened.' })
  at!: Date;

  /** Resolved from actorId. */
  actorId!: string | null;

  @Field(() => String, { description: 'What happened, e.g. auth.login, user.role_changed, order.placed.' })
  action!: string;

  @Field(() => ID, { nullable: true, description: 'The object acted on.' })
  subjectId!: string | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Details.' })
  data!: unknown;

  @Field(() => String, { description: 'sha256(previous hash, this entry): hex.' })
  hash!: string;
}

@ObjectType({ description: 'An edge in the audit log.' })
export class AuditEdge {
  @Field(() => String, { description: 'Opaque cursor for `after`.' })
  cursor!: string;

  @Field(() => AuditEntry, { description: 'The entry.' })
  node!: AuditEntry;
}

@ObjectType({ description: 'A page of audit entries, newest first.' })
export class AuditConnection {
  @Field(() => [AuditEdge], { description: 'The entries on this page.' })
  edges!: AuditEdge[];

  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'The result of recomputing the audit chain.' })
export class AuditVerification {
  @Field(() => Boolean, { description: 'Every entry links to the one before and matches its hash.' })
  valid!: boolean;

  @Field(() => Int, { description: 'Entries checked.' })
  entries!: number;

  @Field(() => ID, { nullable: true, description: 'The first entry that does not match, if any.' })
  firstBrokenId!: string | null;
}
