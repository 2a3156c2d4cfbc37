# install-paths.sed: turns the source-tree sample configuration into the installed one.
s|^audio_root .*|audio_root /srv/streamd/audio;|
s|^secret_key_file .*|secret_key_file /etc/streamd/secret.key;|
s|^access_log .*|access_log /var/log/streamd/access.log;|
s|^error_log .*|error_log /var/log/streamd/error.log;|
s|^pid_file .*|pid_file /run/streamd/streamd.pid;|
s|^database .*|database /var/lib/streamd/streamd.db;|
s|^user root;|user streamd;|
