/**
 * Texts of the refusals that both our handlers and API Gateway itself send (the stack's gateway
 * responses), so a caller reads the same words whichever of the two refused. Plain constants: the
 * stack imports them without pulling in any handler code.
 */
export const UNAUTHORIZED_TEXT = 'Missing or invalid callback token.';
export const NOT_JSON_TEXT = 'The request body must be a JSON order sent as application/json.';
