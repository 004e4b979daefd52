// Tier version-once (runtime/fast/version_once.py says why): the kernel runs cdktf's `terraform version` once.
// cdktf looks execSync up on the child_process module at each call, so replacing it there is enough; only that
// exact command is remembered, and only a successful answer (a failure is run, and thrown, again).
"use strict";
const childProcess = require("child_process");

const command = `${process.env.TERRAFORM_BINARY_NAME || "terraform"} version`; // cdktf's terraformBinaryName
const execSync = childProcess.execSync;
let answer;

childProcess.execSync = function execSyncOnce(requested, ...rest) {
  if (requested !== command) return execSync.call(this, requested, ...rest);
  if (answer === undefined) answer = execSync.call(this, requested, ...rest);
  return Buffer.isBuffer(answer) ? Buffer.from(answer) : answer;
};
