// page_resources.js: placeholder (to be written).
import { h } from './ui.js';

export default {
  id: 'resources',
  title: 'Keys',
  scope: null,
  render(root) {
    root.appendChild(h('h1', {}, 'Keys'));
  },
};
