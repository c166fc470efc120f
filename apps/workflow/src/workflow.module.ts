import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HealthModule, JsonLogger } from '@weft/runtime';
import { assemble, type WorkflowComponents, type WorkflowDeps } from './workflow.components';
import { serveTransports } from './workflow.transports';

const DEPS = Symbol('WorkflowDeps');
const COMPONENTS = Symbol('WorkflowComponents');

/** Builds the workflow service's components and starts its transports and workers. */
@Module({})
export class WorkflowModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(DEPS) private readonly deps: WorkflowDeps,
    @Inject(COMPONENTS) private readonly components: WorkflowComponents,
  ) {}

  static forRoot(deps: WorkflowDeps): DynamicModule {
    return {
      module: WorkflowModule,
      imports: [HealthModule.forRoot(deps.readiness)],
      providers: [
        { provide: DEPS, useValue: deps },
        { provide: COMPONENTS, useValue: assemble(deps) },
        { provide: JsonLogger, useValue: deps.logger },
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.components.links.load();
    await serveTransports(this.components, this.deps);
    const { relay, dueWork, partitions, recovery } = this.components;
    if (this.deps.recoverLostWork) await recovery.recover();
    relay.start();
    dueWork.start();
    partitions.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.components.partitions.stop();
    await this.components.dueWork.stop();
    await this.components.relay.stop();
  }
}
