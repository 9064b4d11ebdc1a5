export { auroc } from './auroc.js';
export { auPro } from './aupro.js';
export {
  labelComponents,
  componentBoxes,
  type Components,
  type ComponentBox,
} from '../../core/components.js';
export { confusionAt, type Confusion } from './classification.js';
