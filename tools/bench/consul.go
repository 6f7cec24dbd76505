package main

import "github.com/hashicorp/consul/api"

// consulClient returns a Consul API client for addr.
func consulClient(addr string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	return api.NewClient(cfg)
}
