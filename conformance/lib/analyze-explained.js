'use strict';
// istioctl analyze warnings the output is allowed to carry, each with the reason it is right as it
// is. docs/real-component-suites.md, "Conformance with the real components", lists the same entries.
// An entry matches a message by code and origin ("<Kind> <namespace>/<name>").
module.exports = [];
