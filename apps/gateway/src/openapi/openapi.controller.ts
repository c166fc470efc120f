import { Controller, Get } from '@nestjs/common';
import { apiOperations, buildOpenApiDocument } from './openapi.document';

/** The API's description; served without a key, as it holds no tenant's data. */
@Controller('v1')
export class OpenApiController {
  private document: Record<string, unknown> | undefined;

  @Get('openapi.json')
  get(): Record<string, unknown> {
    this.document ??= buildOpenApiDocument(apiOperations);
    return this.document;
  }
}
