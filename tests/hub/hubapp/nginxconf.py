"""The generated nginx configuration: the hub origin (TLS, HTTP/2 + HTTP/1.1 via ALPN) proxying
to the app, and the CDN origin serving LFS objects and receiving LFS uploads behind signed URLs."""
import os

TEMPLATE = """\
{user_line}
worker_processes 2;
pid {dir}/run/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{ worker_connections 1024; }}

http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server_tokens off;
    client_body_temp_path {dir}/nginx/tmp/body;
    proxy_temp_path {dir}/nginx/tmp/proxy;
    fastcgi_temp_path {dir}/nginx/tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx/tmp/uwsgi;
    scgi_temp_path {dir}/nginx/tmp/scgi;
    ssl_certificate {dir}/tls/server.pem;
    ssl_certificate_key {dir}/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:localhub:1m;
    keepalive_requests 10000;

    # access log: origin method uri status bytes_sent bytes_received authorization(yes|no) time
    # protocol connection range (protocol HTTP/2.0 or HTTP/1.1, connection nginx's serial number
    # of the client connection, range the Range header or -; one with blanks is logged as ?)
    map $http_authorization $auth_present {{ default yes; "" no; }}
    map $http_range $range_logged {{ "" "-"; "~[[:space:]]" "?"; default $http_range; }}
    log_format hub_log 'hub $request_method $request_uri $status $bytes_sent $request_length $auth_present $msec $server_protocol $connection $range_logged';
    log_format cdn_log 'cdn $request_method $request_uri $status $bytes_sent $request_length $auth_present $msec $server_protocol $connection $range_logged';
    # user-agent log: origin method uri user-agent (the rest of the line, nginx-escaped)
    log_format hub_ua 'hub $request_method $request_uri $http_user_agent';
    log_format cdn_ua 'cdn $request_method $request_uri $http_user_agent';

    upstream hubapp {{
        server 127.0.0.1:{app_port};
        keepalive 16;
    }}

    server {{
        listen {listen}:{hub_port} ssl http2;
        {hub_plain_listen}
        access_log {dir}/logs/access.log hub_log;
        access_log {dir}/logs/user-agent.log hub_ua;
        client_max_body_size 0;
        add_header X-Request-Id $request_id always;
        include {dir}/nginx/hub-knobs.conf;
        location / {{
            proxy_pass http://hubapp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_redirect off;
            proxy_buffering off;
            proxy_read_timeout 600s;
        }}
    }}

    server {{
        listen {listen}:{cdn_port} ssl http2;
        {cdn_plain_listen}
        access_log {dir}/logs/access.log cdn_log;
        access_log {dir}/logs/user-agent.log cdn_ua;
        client_max_body_size 0;
        include {dir}/nginx/knobs.conf;
        limit_rate $cdn_rate;

        # LFS objects: signed, expiring URLs; Range is served by nginx itself.
        location ~ "^/lfs/(?<sha>[0-9a-f]{{64}})$" {{
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri {secret}";
            if ($secure_link != "1") {{ return 403; }}
            if ($cdn_via_app) {{ rewrite ^ /_fault$uri last; }}
            root {dir}/store;
            add_header X-Linked-Etag "\\"$sha\\"";
            add_header Access-Control-Expose-Headers "X-Linked-Etag, Content-Range, ETag";
        }}

        # LFS upload targets (basic PUT and multipart parts), stored by WebDAV PUT.
        location ~ "^/upload/(?<uid>[0-9a-f]{{32}})/(?<part>[0-9]+|basic)$" {{
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri {secret}";
            if ($secure_link != "1") {{ return 403; }}
            if ($upload_via_app) {{ rewrite ^ /_fault$uri last; }}
            limit_except PUT {{ deny all; }}
            root {dir};
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
            client_body_temp_path {dir}/upload-tmp;
            add_header ETag "\\"$request_id\\"";
        }}

        # Fault injection (knobs cdn_fault / upload_fault) is done by the app.
        location /_fault/ {{
            internal;
            proxy_pass http://hubapp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Fault-Secret {secret};
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            # an upstream that resets before answering becomes a reset for the client too
            error_page 502 = @drop;
        }}
        location @drop {{ return 444; }}

        location / {{ return 404; }}
    }}
}}
"""


def write(state_dir, config):
    for d in ("nginx/tmp/body", "nginx/tmp/proxy", "nginx/tmp/fastcgi", "nginx/tmp/uwsgi",
              "nginx/tmp/scgi", "upload", "upload-tmp", "run", "logs"):
        os.makedirs(os.path.join(state_dir, d), exist_ok=True)
    listen = config.get("listen", "127.0.0.1")
    listen = "[%s]" % listen if ":" in listen else listen
    text = TEMPLATE.format(
        dir=state_dir, listen=listen, app_port=config["app_port"], hub_port=config["hub_port"],
        cdn_port=config["cdn_port"], secret=config["cdn_secret"],
        user_line="user root;" if os.geteuid() == 0 else "",
        hub_plain_listen=("listen %s:%d;" % (listen, config["http_port"])) if "http_port" in config else "",
        cdn_plain_listen=("listen %s:%d;" % (listen, config["http_cdn_port"])) if "http_port" in config else "")
    path = os.path.join(state_dir, "nginx", "nginx.conf")
    with open(path, "w") as f:
        f.write(text)
    return path
