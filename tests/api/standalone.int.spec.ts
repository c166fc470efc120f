import { describeApi } from './api.suite';

describeApi('standalone', 3500);
