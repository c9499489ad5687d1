complete --keep-order --exclusive --command kctx --arguments "(KCTX_COMPLETE=fish kctx -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
