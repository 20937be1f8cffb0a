'use strict';
// istioctl analyze warnings the output is allowed to carry, each with the reason it is right as it
// is. The README's "Conformance with the real components" section lists the same entries.
// An entry matches a message by code and origin ("<Kind> <namespace>/<name>").
module.exports = [];
