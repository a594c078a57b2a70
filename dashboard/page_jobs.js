// page_jobs.js: placeholder (to be written).
import { h } from './ui.js';

export default {
  id: 'jobs',
  title: 'Fine-tuning',
  scope: 'fine-tuning',
  render(root) {
    root.appendChild(h('h1', {}, 'Fine-tuning'));
  },
};
