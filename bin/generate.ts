/** `npm run generate`: writes functions/kco/schemas.generated.ts (see bin/local/schema-descriptors.ts). */
import { writeFileSync } from 'node:fs';
import { GENERATED_SCHEMAS_FILE, renderSchemaDescriptors } from './local/schema-descriptors.js';

writeFileSync(GENERATED_SCHEMAS_FILE, renderSchemaDescriptors(), 'utf8');
process.stdout.write(`wrote ${GENERATED_SCHEMAS_FILE}\n`);
