// page_admin.js: placeholder (to be written).
import { h } from './ui.js';

export default {
  id: 'admin',
  title: 'Admin',
  scope: 'admin',
  render(root) {
    root.appendChild(h('h1', {}, 'Admin'));
  },
};
