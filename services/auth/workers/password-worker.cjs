'use strict';
// Runs bcrypt for the auth service on its own thread. The thread lowers its own
// scheduling priority (on Linux the nice value is per thread), so hashing uses
// the CPU that request handling leaves over instead of starving it.
const os = require('node:os');
const bcrypt = require('bcrypt');

try {
  os.setPriority(0, 19);
} catch {
  // Not permitted here: hashing still works, at normal priority.
}

module.exports = function passwordTask(task) {
  return task.op === 'hash' ? bcrypt.hashSync(task.password, task.cost) : bcrypt.compareSync(task.password, task.hash);
};
