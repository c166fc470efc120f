import { Limit } from '@weft/contracts';
import { z } from 'zod';

/** Page size of list routes: query strings are text, the contract's limit is a number. */
export const PageLimit = z.coerce.number().pipe(Limit).default(20);
