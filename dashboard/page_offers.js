// page_offers.js: placeholder (to be written).
import { h } from './ui.js';

export default {
  id: 'offers',
  title: 'Offers',
  scope: 'machines',
  render(root) {
    root.appendChild(h('h1', {}, 'Offers'));
  },
};
