// Schemas of the built-in kinds: the definition model, and the checks built on it.
export {
  definitions, definition, keyForKind, openapiName, fieldAtPath, refOf, SCALAR_DEFS,
  type Definition, type Field, type FieldMeta, type FieldType, type Scalar,
} from './model.js';
export { unknownFields } from './unknown-fields.js';
