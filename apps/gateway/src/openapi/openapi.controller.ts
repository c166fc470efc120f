import { Controller, Get } from '@nestjs/common';
import { workflowJsonSchema } from '@weft/definitions';
import { openApiDocument } from './openapi.document';

/** The API's description and the definitions' schema; served without a key: no tenant data. */
@Controller('v1')
export class OpenApiController {
  private document: Record<string, unknown> | undefined;
  private workflowSchema: Record<string, unknown> | undefined;

  @Get('openapi.json')
  get(): Record<string, unknown> {
    this.document ??= openApiDocument();
    return this.document;
  }

  @Get('schemas/workflow.json')
  schema(): Record<string, unknown> {
    this.workflowSchema ??= workflowJsonSchema();
    return this.workflowSchema;
  }
}
