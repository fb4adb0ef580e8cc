/* hub_file: fetch one file of a Hub repository into the Hugging Face cache
 * (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), as
 * `hf download REPO_ID FILENAME` would, through ferry_hub_download.
 *
 *   hub_file REPO_ID FILENAME [REVISION]
 *
 * The endpoint (HF_ENDPOINT), the cache and the token (HF_TOKEN, then the token file) come
 * from the environment, read by libferry as huggingface_hub reads them. A CA bundle other
 * than the system's can be given in SSL_CERT_FILE. Prints the file's path in the snapshot. */
#include <ferry.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s REPO_ID FILENAME [REVISION]\n", argv[0]);
    return 2;
  }
  struct ferry_config cfg = {0};
  cfg.cacert = getenv("SSL_CERT_FILE");

  const char *filenames[] = {argv[2]};
  struct ferry_hub_download_opts opts = {0}; /* NULL / 0: huggingface_hub's defaults */
  opts.repo_id = argv[1];
  opts.revision = argc == 4 ? argv[3] : NULL;
  opts.filenames = filenames;
  opts.n_filenames = 1;
  opts.engine = &cfg;

  struct ferry_hub_download_result result;
  int err = ferry_hub_download(&opts, &result);
  if (err) {
    fprintf(stderr, "hub_file: %s: %s\n", ferry_err_name(err), result.message);
  } else {
    printf("%s\n", result.path);
    fprintf(stderr, "hub_file: commit %s, %s\n", result.commit,
            result.files_downloaded ? "downloaded" : "already in the cache");
  }
  ferry_hub_download_result_free(&result); /* needed whether it failed or not */
  return err ? ferry_exit_class(err) : 0;
}
