import { describeApi } from './api.suite';

describeApi('stack', 3510);
