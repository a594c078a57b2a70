// page_webhooks.js: placeholder (to be written).
import { h } from './ui.js';

export default {
  id: 'webhooks',
  title: 'Webhooks',
  scope: 'webhooks',
  render(root) {
    root.appendChild(h('h1', {}, 'Webhooks'));
  },
};
