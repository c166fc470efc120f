import { describeHostile } from './hostile.suite';

describeHostile('standalone', 3620);
