/**
 * The part of class-validator Keyward uses, each piece from its own module. The package's index
 * loads every one of its ~100 decorators, and with them validator.js and libphonenumber-js's
 * metadata: about 3 MB of heap in some 300 modules that the gateway would carry and never use.
 * Import class-validator through this file. A decorator not yet here is added from
 * node_modules/class-validator/cjs/decorator/ (tsconfig.json's `paths` finds its types).
 */
export type { ValidationError } from 'class-validator';
export { ArrayMaxSize } from 'class-validator/cjs/decorator/array/ArrayMaxSize';
export { IsEmail } from 'class-validator/cjs/decorator/string/IsEmail';
export { IsInt } from 'class-validator/cjs/decorator/typechecker/IsInt';
export { IsNumber } from 'class-validator/cjs/decorator/typechecker/IsNumber';
export { IsOptional } from 'class-validator/cjs/decorator/common/IsOptional';
export { Matches } from 'class-validator/cjs/decorator/string/Matches';
export { Max } from 'class-validator/cjs/decorator/number/Max';
export { MaxLength } from 'class-validator/cjs/decorator/string/MaxLength';
export { Min } from 'class-validator/cjs/decorator/number/Min';
export { MinLength } from 'class-validator/cjs/decorator/string/MinLength';
export { ValidateNested } from 'class-validator/cjs/decorator/common/ValidateNested';
export { Validator } from 'class-validator/cjs/validation/Validator';
