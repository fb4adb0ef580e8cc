/* get_one: download one URL into a file, verified against its expected SHA-256, through
 * libferry's engine (ferry_engine_*).
 *
 *   get_one URL OUTPUT SHA256
 *
 * The file appears at OUTPUT only once its SHA-256 matched; an interrupted run resumes from
 * OUTPUT.part. A CA bundle other than the system's can be given in SSL_CERT_FILE: the engine
 * reads no environment variable for it, so the caller decides, as the ferry command does. */
#include <ferry.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s URL OUTPUT SHA256\n", argv[0]);
    return 2;
  }
  struct ferry_config cfg = {0}; /* zero: every default */
  cfg.cacert = getenv("SSL_CERT_FILE");
  struct ferry_engine *engine;
  int err = ferry_engine_new(&cfg, &engine);
  if (err) {
    fprintf(stderr, "get_one: %s\n", ferry_strerror(err));
    return 1;
  }

  struct ferry_job_spec spec = {0};
  spec.url = argv[1];
  spec.path = argv[2];
  spec.sha256_hex = argv[3];
  spec.size = -1; /* unknown: the server says */
  struct ferry_job *job = NULL;
  err = ferry_engine_add(engine, &spec, &job);
  if (!err) err = ferry_engine_run(engine);

  struct ferry_job_result result;
  if (job) ferry_job_result(job, &result); /* the job lives as long as the engine */
  if (err) {
    /* the message has the URL without its secrets (ferry_redact_url) */
    fprintf(stderr, "get_one: %s: %s\n", ferry_err_name(err),
            job && result.message[0] ? result.message : ferry_strerror(err));
  } else {
    printf("%s %s %llu bytes, verified=%d\n", argv[2], result.sha256_hex,
           (unsigned long long)result.size, result.verified);
  }
  ferry_engine_free(engine);
  return err ? ferry_exit_class(err) : 0;
}
