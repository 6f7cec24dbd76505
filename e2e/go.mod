module github.com/glusterd-ng/glusterd-ng/e2e

go 1.26.7
