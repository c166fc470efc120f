import { describeHostile } from './hostile.suite';

describeHostile('stack', 3610);
