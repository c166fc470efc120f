import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The schema exists before this runs (see migrate()); this records version 1 of it. */
export class CreateSchema1763900000000 implements MigrationInterface {
  name = 'CreateSchema1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`COMMENT ON SCHEMA gateway IS 'Weft gateway service'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`COMMENT ON SCHEMA gateway IS NULL`);
  }
}
