import { NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import type { Config } from '../config.js';

/**
 * Validation rules that hide the schema when introspection is off (production default): the same on
 * HTTP (where Apollo adds them itself from `introspection: false`) and on sockets.
 */
export function introspectionRules(config: Pick<Config, 'exposure'>): ValidationRule[] {
  return config.exposure.introspection ? [] : [NoSchemaIntrospectionCustomRule];
}
