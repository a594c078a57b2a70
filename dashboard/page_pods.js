// page_pods.js: placeholder (to be written).
import { h } from './ui.js';

export default {
  id: 'pods',
  title: 'Pods',
  scope: 'pods',
  render(root) {
    root.appendChild(h('h1', {}, 'Pods'));
  },
};
