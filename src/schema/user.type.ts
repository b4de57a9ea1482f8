import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

export enum Role {
  CLIENT = 'CLIENT',
  ADVISOR = 'ADVISOR',
  ADMIN = 'ADMIN',
}
registerEnumType(Role, { name: 'Role', description: 'What a user may see and do.' });

@ObjectType({ description: 'A person using the platform: an investor, an advisor or an admin.' })
export class User {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Login email (lower-cased).' })
  email!: string;

  @Field(() => String, { nullable: true, description: 'Display name.' })
  name!: string | null;

  @Field(() => Role, { description: 'CLIENT, ADVISOR or ADMIN.' })
  role!: Role;

  /** Resolved by UserResolver.advisor from advisorId. */
  advisorId!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the account was created.' })
  createdAt!: Date;
}

@ObjectType({ description: 'Tokens from register, login or refreshToken.' })
export class AuthPayload {
  @Field(() => String, { description: 'Short-lived JWT: send as `Authorization: Bearer <token>`.' })
  accessToken!: string;

  @Field(() => String, {
    description: 'Single-use refresh token; exchange it with refreshToken. Reusing a spent one revokes the login.',
  })
  refreshToken!: string;

  @Field(() => User, { description: 'The authenticated user.' })
  user!: User;
}
