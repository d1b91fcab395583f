"""Example pyinfra inventory for staging. Copy into your app's inventories/ and edit.

Every top-level list is a group; each host is "name" or ("name", {data}).
Host data reaches the templates as host.data; `listen_addr`, `http_port` and `https_port`
shape nginx's `listen`. shipstate checks SSH host keys against known_hosts (first contact:
pass --accept-new-host-keys once).
"""

web = [
    ("staging-web1", {"ssh_hostname": "staging-web1.example.com", "ssh_user": "deploy"}),
]
