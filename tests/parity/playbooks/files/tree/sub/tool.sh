#!/bin/sh
echo tree tool
