/** schemas/openapi.json, the gateway's OpenAPI document as committed. */
export declare const OPENAPI_FILE: string;
/** The types the weft CLI's client is typed with, generated from OPENAPI_FILE. */
export declare const OPENAPI_TYPES_FILE: string;
export declare function openApiTypes(document: Record<string, unknown>): Promise<string>;
