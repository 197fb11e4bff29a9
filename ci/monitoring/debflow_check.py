"""Datadog Agent custom check: debflow check --json.

Install as /etc/datadog-agent/checks.d/debflow_check.py with
/etc/datadog-agent/conf.d/debflow_check.yaml:

    init_config:
    instances:
      - repo: /srv/apt
        keyring: /usr/share/keyrings/fleet.gpg
        min_collection_interval: 300

It submits one service check per finding (debflow.check, tagged with the
check and its subject) and every metric as a gauge (debflow.<label>).
cmd/debflow/monitoring_test.go runs COMMAND, with the instance above,
against a test repository.
"""

import json
import subprocess

try:
    from datadog_checks.base import AgentCheck
except ImportError:  # outside the Agent, for a dry run
    AgentCheck = object

COMMAND = ["debflow", "check", "--json", "--repo", "{repo}", "--keyring", "{keyring}", "--warn", "72h", "--crit", "24h"]

STATUS = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


class DebflowCheck(AgentCheck):
    def check(self, instance):
        argv = [a.format(**instance) for a in COMMAND]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
        report = json.loads(out)
        for finding in report["checks"]:
            tags = ["check:" + finding["check"], "subject:" + finding.get("subject", "")]
            self.service_check("debflow.check", STATUS[finding["status"]], tags=tags, message=finding["message"])
        self.service_check("debflow.status", STATUS[report["status"]], message=report["summary"])
        for m in report["metrics"]:
            self.gauge("debflow." + m["label"], m["value"])
