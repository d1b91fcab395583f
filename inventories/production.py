"""Example pyinfra inventory for production: two web hosts behind a load balancer.

Deploy to one group or host with --limit, e.g. `shipstate apply -i inventories/production.py
--limit web1`.
"""

_deploy = {"ssh_user": "deploy", "ssh_key": "~/.ssh/id_ed25519"}

web = [
    ("web1", {**_deploy, "ssh_hostname": "web1.example.com"}),
    ("web2", {**_deploy, "ssh_hostname": "web2.example.com"}),
]
